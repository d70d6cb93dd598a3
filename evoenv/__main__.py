from evoenv.cli import main

main()
