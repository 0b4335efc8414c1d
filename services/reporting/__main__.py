"""python -m services.reporting            serve the API, the dashboard and the consumer
python -m services.reporting rebuild    rebuild every read model from offset 0 and swap it in
python -m services.reporting metrics-doc  print docs/metrics.md (the figures' definitions)
python -m services.reporting open-data-doc  print docs/open-data.md (the open data's dictionary and licence)"""

import sys

command = sys.argv[1] if len(sys.argv) > 1 else "serve"
if command == "serve":
    from services.reporting.main import main

    main()
elif command == "rebuild":
    from services.reporting.rebuild import main as rebuild

    rebuild(sys.argv[2:])
elif command == "metrics-doc":
    from services.reporting.metrics_doc import render

    print(render(), end="")
elif command == "open-data-doc":
    from services.reporting.open_data import render

    print(render(), end="")
else:
    sys.exit(__doc__)
