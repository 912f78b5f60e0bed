#define CALLS_MAP uprobe_symbol_missing_calls
#include "../_objects/calls.h"

COUNT_CALLS("uprobe//bin/true:ebpfmon_nosuch_symbol", on_hook)
