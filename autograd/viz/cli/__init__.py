"""The command line: `python -m autograd.viz "expression" name=value ... -o out/`.

    expr.py  the whitelisted expression language (parse, check, build Values)
    main.py  arguments, drawing, writing the graph and the player
"""
