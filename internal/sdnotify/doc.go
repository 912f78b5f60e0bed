// Package sdnotify tells the service manager (systemd) what state the
// service is in, by the sd_notify protocol: one datagram of
// newline-separated VAR=value lines to the unix socket named by
// $NOTIFY_SOCKET, a path or, with a leading "@", an abstract name.
//
// A nil [*Notifier] (what [FromEnv] returns when $NOTIFY_SOCKET is unset)
// does nothing, so callers need no checks outside systemd.
package sdnotify
