from tierslieu.cli import main

main()
