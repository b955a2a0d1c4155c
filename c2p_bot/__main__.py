from c2p_bot.cli import main

raise SystemExit(main())
