from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="The Shixing demo county.")
