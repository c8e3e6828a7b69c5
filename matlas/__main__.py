from matlas.cli import main

main()
