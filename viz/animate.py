def animate(root, path):
    pass
