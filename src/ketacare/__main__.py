from ketacare.cli.main import run

run()
