#define CALLS_MAP unknown_section_calls
#include "../_objects/calls.h"

COUNT_CALLS("ebpfmon_nosuch/hook", on_hook)
