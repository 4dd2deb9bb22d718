import sys

# jsonschema's optional IRI format checker is not imported by the command: rfc3987_syntax builds its
# grammar on import, about 2 s of CPU, for a format nbformat never checks (see run._PYTEST)
sys.modules.setdefault("rfc3987_syntax", None)

from .cli import main  # noqa: E402

sys.exit(main())
