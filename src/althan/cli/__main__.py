from althan.cli import main

main()
