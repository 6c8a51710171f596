"""moto's server, with DynamoDB writes handled one at a time.

DynamoDB evaluates a conditional write atomically; moto's threaded server does not, so two
concurrent conditional writes can both succeed there. The tests prove exactly-once behaviour
with concurrent writes, so DynamoDB writes are serialised here. Reads and SQS calls (long polls
included) stay concurrent.

Usage: moto_server.py -H 127.0.0.1 -p PORT
"""

import argparse
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


WRITES = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "CreateTable",
    "DeleteTable",
    "UpdateTable",
    "UpdateTimeToLive",
}


class DynamoDbWritesOneAtATime:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        service, _, operation = environ.get("HTTP_X_AMZ_TARGET", "").partition(".")
        if not service.startswith("DynamoDB") or operation not in WRITES:
            return self.app(environ, start_response)
        with self.lock:
            # The whole body is produced under the lock.
            return list(self.app(environ, start_response))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        args.host,
        args.port,
        DynamoDbWritesOneAtATime(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
