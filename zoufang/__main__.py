from zoufang.cli import main

main()
