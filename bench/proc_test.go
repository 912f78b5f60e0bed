package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatus(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       memory
		err        string
	}{
		{"both", "Name:\tebpfmon\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n", memory{RSS: 1 << 20, HWM: 2 << 20}, ""},
		{"missing hwm", "VmRSS:\t1024 kB\n", memory{}, "found 1"},
		{"no unit", "VmRSS:\t1024\nVmHWM:\t1 kB\n", memory{}, "want"},
		{"bad number", "VmRSS:\tx kB\nVmHWM:\t1 kB\n", memory{}, "bad size"},
		{"negative", "VmRSS:\t-1 kB\nVmHWM:\t1 kB\n", memory{}, "bad size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatus(tc.text)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseStatus = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestParseSchedstat(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       time.Duration
		ok         bool
	}{
		{"line", "123456 789 10\n", 123456, true},
		{"two fields", "1 2\n", 0, false},
		{"not a number", "a 2 3\n", 0, false},
		{"negative", "-5 2 3\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSchedstat(tc.text)
			if (err == nil) != tc.ok || got != tc.want {
				t.Fatalf("parseSchedstat = %v, %v; want %v, ok %v", got, err, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add("VmRSS:\t1 kB\nVmHWM:\t2 kB\n")
	f.Add("VmRSS: 99999999999999999999 kB")
	f.Fuzz(func(t *testing.T, text string) {
		m, err := parseStatus(text)
		if err == nil && (m.RSS < 0 || m.HWM < 0) {
			t.Fatalf("negative memory %+v from %q", m, text)
		}
	})
}

func TestReadSelf(t *testing.T) {
	pid := os.Getpid()
	cpu, err := readCPU(pid)
	if err != nil || cpu <= 0 {
		t.Fatalf("readCPU(self) = %v, %v; want > 0", cpu, err)
	}
	mem, err := readMemory(pid)
	if err != nil || mem.RSS <= 0 || mem.HWM < mem.RSS {
		t.Fatalf("readMemory(self) = %+v, %v", mem, err)
	}
}
