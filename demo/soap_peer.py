"""The demo SOAP service: the calculator and customer lookup the web service demo process calls.

    .venv/bin/python demo/soap_peer.py --port 8099            # http://127.0.0.1:8099/?wsdl, SOAP 1.1
    .venv/bin/python demo/soap_peer.py --port 8099 --soap 1.2 # the same in SOAP 1.2

Operations: add(a, b), fail(message) (always a SOAP fault), sleep(seconds), customer(id),
lookup(id) -> {customer, found}, next_day(day). Customers "42" and "7" exist. It needs spyne
(requirements-dev.txt, which ./test installs). Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.external.soap_peer import SoapPeer  # noqa: E402 - after the path above


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--soap", choices=["1.1", "1.2"], default="1.1")
    options = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("spyne").setLevel(logging.CRITICAL)  # the faults it answers are on purpose
    peer = SoapPeer(options.soap, port=options.port, host=options.host, name="CalculatorService")
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with peer:
        print(f"demo SOAP {options.soap} service: WSDL at {peer.wsdl}  (Ctrl-C to stop)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()


if __name__ == "__main__":
    main()
