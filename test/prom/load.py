"""Load for test/prom/e2e.sh: events the bundled examples count, at known rates.

Usage: python3 load.py SECONDS DIR

Runs for SECONDS, paced: each task is done rate * elapsed times (a late tick catches up, at
most a second's worth per pass over the tasks: a task the machine cannot keep up with, such as
execs on a busy machine during a long soak, must not starve the others).
Writes DIR/ready once its TCP server listens and DIR/done with the counts at the end
(NAME COUNT lines). Only modules of python3-minimal (no json, no mmap): the machine may
have no more. Run it as /usr/bin/python3 (the usdt example's probes are in that binary),
in the network namespace where ebpfmon runs (xdp/lo) and in the cgroup to count as a pod.
"""

import gc
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

# The rates, per second, that e2e.sh asserts on (its RATES must match).
RATES = {
    "exec": 20,         # /bin/true: execs_total, exec_events_total, pod_execs_total
    "getpriority": 500,  # syscalls_total{syscall="getpriority"}
    "esrch": 100,       # syscall_errors_total{syscall="getpriority",errno="ESRCH"}
    "getaddrinfo": 50,  # getaddrinfo_calls_total (uprobe on libc)
    "connect": 20,      # TCP connects to 127.0.0.1: tcpconnlat, tcpstates, podtcp, podnet, timers
    "fsync": 5,         # 64 KiB written and fsynced on a disk: biolatency, blockpci
    "dns": 10,          # DNS queries to 127.0.0.1:53 (nothing listens): xdp, kfree_skb
    "gc": 10,           # gc.collect(): the usdt example's gc__start, generation 2
    "sigterm": 2,       # a child killed by SIGTERM: signal_exits_total
    "fault": 10,        # 33 MiB touched page by page: page_faults_total
    "synretry": 1,      # a connect whose SYN is dropped, closed after 2.5 s: 1 or 2 retransmits
}


def serve(sock):
    """Accepts connections and reads them to the end."""
    while True:
        conn, _ = sock.accept()
        with conn:
            while conn.recv(65536):
                pass


def dns_query(name):
    """A DNS query packet (id 0x1234, recursion desired, one A question) for name."""
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", 0x1234, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)


def full_listener():
    """A listener whose accept queue is full (backlog 0, one connection never accepted):
    the kernel drops the SYNs of further connects, and their senders retransmit."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(0)
    first = socket.create_connection(srv.getsockname())
    return srv, first


def tasks(port, path):
    """The tasks by name: each does one event."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    full, first = full_listener()
    pending = []  # (deadline, socket) of the connects to the full listener
    query = dns_query("ebpfmon-e2e.example.org")
    payload = os.urandom(65536)

    def connect():
        with socket.create_connection(("127.0.0.1", port)) as c:
            c.sendall(b"x" * 4096)

    def fsync():
        with open(path, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())

    def sigterm():
        p = subprocess.Popen(["/bin/sleep", "10"])
        p.send_signal(signal.SIGTERM)
        p.wait()

    def synretry():
        now = time.monotonic()
        while pending and pending[0][0] < now:
            pending.pop(0)[1].close()
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setblocking(False)
        c.connect_ex(full.getsockname())
        pending.append((now + 2.5, c))

    def fault():
        # Above glibc's largest mmap threshold (32 MiB): a fresh mapping every time, so each
        # page faults (heap memory would be reused, already mapped).
        b = bytearray(33 << 20)
        for i in range(0, len(b), 4096):
            b[i] = 1

    return {
        "exec": lambda: subprocess.run(["/bin/true"], check=True),
        "getpriority": lambda: os.getpriority(os.PRIO_PROCESS, 0),
        "esrch": esrch,
        "getaddrinfo": lambda: socket.getaddrinfo("localhost", 80, socket.AF_INET),
        "connect": connect,
        "fsync": fsync,
        "dns": lambda: udp.sendto(query, ("127.0.0.1", 53)),
        "gc": gc.collect,
        "sigterm": sigterm,
        "fault": fault,
        "synretry": synretry,
        "_keep": (full, first),  # not a task: holds the listener and its queued connection
    }


def esrch():
    """getpriority of a process that does not exist: fails with ESRCH."""
    try:
        os.getpriority(os.PRIO_PROCESS, 1 << 30)
    except ProcessLookupError:
        return
    raise RuntimeError("getpriority of pid 2^30 did not fail with ESRCH")


def main():
    seconds, out = float(sys.argv[1]), sys.argv[2]
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    threading.Thread(target=serve, args=(srv,), daemon=True).start()
    run = tasks(srv.getsockname()[1], os.path.join(out, "fsync.dat"))
    with open(os.path.join(out, "ready"), "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    done = dict.fromkeys(RATES, 0)
    t0 = time.monotonic()
    while (elapsed := time.monotonic() - t0) < seconds:
        for name, rate in RATES.items():
            n = 0
            while done[name] < int(rate * elapsed) and n < rate:
                run[name]()
                done[name] += 1
                n += 1
        time.sleep(0.01)
    with open(os.path.join(out, "done"), "w") as f:
        f.write("seconds %.1f\n" % (time.monotonic() - t0))
        for name, n in done.items():
            f.write("%s %d\n" % (name, n))


if __name__ == "__main__":
    main()
