from intel.cli import main

raise SystemExit(main())
