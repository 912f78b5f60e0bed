# Cgroups made by a test script and removed by its cleanup, for test/prom/e2e.sh and
# test/soak/soak.sh (sourced, not run). rmcgs reports through the caller's say.

CREATED_CGROUPS=()

# mkcg DIR: mkdir -p DIR, remembering each level it made for cleanup.
mkcg() {
	local d=$1 todo=()
	while [ ! -d "$d" ]; do
		todo=("$d" "${todo[@]}")
		d=$(dirname "$d")
	done
	for d in "${todo[@]}"; do
		mkdir -- "$d"
		CREATED_CGROUPS+=("$d")
	done
}

# rmcgs: remove the cgroups mkcg made, deepest first; each is empty once its processes are gone
# (one more try a second later for those still exiting).
rmcgs() {
	local i
	for ((i = ${#CREATED_CGROUPS[@]} - 1; i >= 0; i--)); do
		rmdir -- "${CREATED_CGROUPS[i]}" 2>/dev/null || sleep 1
		[ ! -d "${CREATED_CGROUPS[i]}" ] || rmdir -- "${CREATED_CGROUPS[i]}" || say "cannot remove ${CREATED_CGROUPS[i]}"
	done
}
