import sys

try:
    from .cli import main
except KeyboardInterrupt:  # ^C while Python loads the package: no traceback
    print("assetgen: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
