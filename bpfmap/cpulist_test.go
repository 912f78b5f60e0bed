package bpfmap

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestParseCPUList(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []int
	}{
		{"0\n", []int{0}},
		{"0-1\n", []int{0, 1}},
		{"0-3,5,7-8", []int{0, 1, 2, 3, 5, 7, 8}},
		{"2,4", []int{2, 4}},
		{"1-1", []int{1}},
		{" 0-2 \n", []int{0, 1, 2}},
	} {
		t.Run(strconv.Quote(tc.in), func(t *testing.T) {
			got, err := ParseCPUList(tc.in)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v, want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseCPUListErrors(t *testing.T) {
	for _, in := range []string{"", "\n", "a", "0-", "-1", "3-1", "0,,1", "0-1,1", "2,1", "0-65536", "1 2", "0x1", "+1", "99999999999999999999"} {
		t.Run(strconv.Quote(in), func(t *testing.T) {
			if got, err := ParseCPUList(in); err == nil {
				t.Errorf("got %v, want an error", got)
			}
		})
	}
}

func TestOnlineCPUs(t *testing.T) {
	cpus, err := OnlineCPUs()
	if err != nil {
		t.Skipf("no %s here: %v", onlinePath, err)
	}
	if len(cpus) == 0 || !slices.IsSorted(cpus) || slices.Index(cpus, 0) != 0 {
		t.Errorf("online cpus %v: want cpu 0 first, ascending", cpus)
	}
}

func FuzzParseCPUList(f *testing.F) {
	for _, s := range []string{"0", "0-1\n", "0-3,5,7-8", "3-1", "0,,1", "1-65535"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cpus, err := ParseCPUList(s)
		if err != nil {
			return
		}
		if len(cpus) == 0 {
			t.Fatalf("%q: no cpus and no error", s)
		}
		for i, c := range cpus {
			if c < 0 || c >= maxCPU || i > 0 && c <= cpus[i-1] {
				t.Fatalf("%q: cpus %v not ascending within [0, %d)", s, cpus, maxCPU)
			}
		}
		// Writing the list back one CPU at a time parses to the same CPUs.
		parts := make([]string, len(cpus))
		for i, c := range cpus {
			parts[i] = strconv.Itoa(c)
		}
		again, err := ParseCPUList(strings.Join(parts, ","))
		if err != nil || !slices.Equal(again, cpus) {
			t.Fatalf("%q: round trip gave %v, %v", s, again, err)
		}
	})
}
