from shop.launcher import main

main()
