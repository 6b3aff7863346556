"""What the Python tests of the learning tools share: the build's binaries,
the real attex-server started on a free loopback port with a temporary data
directory (as tests/testing/server_process.h does for the C++ tests), and the
attex CLI."""

import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, TOOLS)


def read_text(path):
    with open(path) as f:
        return f.read()


class Server:
    """attex-server --demo on 127.0.0.1:0 in `data_dir` (no metrics endpoint, so that
    servers side by side do not contend for its port); stopped on exit."""

    def __init__(self, bin_dir, data_dir, flags=()):
        self.bin_dir, self.data_dir = bin_dir, data_dir
        os.makedirs(data_dir, exist_ok=True)
        port_file = os.path.join(data_dir, "port")
        self.log = open(os.path.join(data_dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir, "attex-server"), "--listen=127.0.0.1:0",
             f"--data_dir={data_dir}", f"--port_file={port_file}", "--demo",
             "--log_level=warn", "--metrics_listen=", *flags],
            stdout=self.log, stderr=self.log)
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"attex-server exited with {self.proc.returncode}; "
                                   f"see {data_dir}/server.log")
            if os.path.exists(port_file) and read_text(port_file).strip():
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("attex-server did not write its port in 30 s")
        self.port = int(read_text(port_file).strip())
        self.tokens = json.loads(read_text(os.path.join(data_dir, "demo-tokens.json")))

    def cli(self, role, *args):
        """Runs the attex CLI as `role` (operator, platform, advertiser);
        returns its stdout parsed as JSON when it is JSON."""
        out = subprocess.run(
            [os.path.join(self.bin_dir, "attex"), f"--addr=127.0.0.1:{self.port}",
             f"--token={self.tokens[role]}", *args],
            check=True, capture_output=True, text=True).stdout
        try:
            return json.loads(out)
        except ValueError:
            return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def close(a, b, tol=1e-5):
    """|a - b| <= tol x max(1, |b|) elementwise; a and b nested lists."""
    import numpy as np
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False, f"shapes {a.shape} and {b.shape}"
    err = np.abs(a - b) / np.maximum(1.0, np.abs(b))
    worst = float(err.max()) if err.size else 0.0
    return worst <= tol, f"worst relative difference {worst:.3g}"
