from herdref.tools.cli import main

raise SystemExit(main())
