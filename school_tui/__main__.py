from school_tui.cli import main

raise SystemExit(main())
