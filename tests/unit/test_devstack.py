"""`make run` refuses to start on ports another program holds, instead of hanging."""

from __future__ import annotations

import socket

from chalicelib.devstack import busy_ports


def test_a_port_someone_listens_on_is_named_and_a_free_one_is_not() -> None:
    with socket.socket() as holder, socket.socket() as spare:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        spare.bind(("127.0.0.1", 0))
        free_port = spare.getsockname()[1]
        spare.close()  # closed, not listening: free again
        taken_port = holder.getsockname()[1]
        found = busy_ports(
            {"embedded AWS": ("127.0.0.1", taken_port), "HTTP API": ("127.0.0.1", free_port)}
        )
    assert found == [f"embedded AWS 127.0.0.1:{taken_port}"]
