from fairguard.cli import main

main()
