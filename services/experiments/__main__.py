from services.experiments.main import main

main()
