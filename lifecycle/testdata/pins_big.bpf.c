// pins.bpf.c with room for 64 pids in pin_calls_total: a changed
// definition of a pinned map (TestPins).
#define PIN_CALLS_ENTRIES 64
#include "pins.bpf.c"
