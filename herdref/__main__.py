from herdref.cli import main

raise SystemExit(main())
