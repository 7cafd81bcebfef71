# The smallest useful Python function. Invoke with {"name": "you"}.
import platform


def handler(event, context):
    name = event.get("name") if isinstance(event, dict) else None
    if not isinstance(name, str) or name == "":
        name = "world"
    return {
        "message": "Hello, %s!" % name,
        "requestId": context.aws_request_id,
        "runtime": "python %s" % platform.python_version(),
    }
