// Package image tests `make image`: the OCI image archive that
// scripts/image.sh packs without a container engine. The tests build it
// (twice, to prove the bytes depend only on the commit), walk its structure
// (index.json -> manifest -> config and layer, digests, sizes, media types),
// check it agrees with the Dockerfile's final stage, and import it into a
// throw-away containerd with `ctr images import`.
//
// The checks read the archive with archive/tar and encoding/json and share no
// code with the script that writes it.
package image
