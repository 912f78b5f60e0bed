// Package lograte limits how often a log line repeats: a slog.Handler
// wrapper that lets each source's message through a few times at once,
// then at most once per interval, and says how many it held back when it
// lets the next one through (or, when none comes, passes the last one held
// back late, with that count). ebpfmon wraps the loggers of its configs with
// it, so that a config failing at every reload or every scrape cannot
// flood the log.
package lograte
