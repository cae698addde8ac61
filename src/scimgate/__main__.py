"""Allow ``python -m scimgate``."""

from scimgate.cli import main

raise SystemExit(main())
