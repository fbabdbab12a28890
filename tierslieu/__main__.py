from tierslieu.cli import app

app(prog_name="tierslieu")
