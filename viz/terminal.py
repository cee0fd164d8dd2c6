def show(root):
    pass

def explain(root):
    pass
