#define CALLS_MAP uprobe_binary_missing_calls
#include "../_objects/calls.h"

COUNT_CALLS("uprobe//ebpfmon/nosuch/bin:main", on_hook)
