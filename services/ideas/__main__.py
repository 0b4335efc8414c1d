from services.ideas.main import main

main()
