"""The playground: TensorFlow Playground on chaingrad, with the live graph of any point.

    chaingrad playground                 # opens http://localhost:PORT/ in the browser

or, from Python (tests, notebooks)::

    from chaingrad.lessons.playground import serve
    playground = serve(port=0)           # a free port; open_browser=True to open a tab
    print(playground.url)
    playground.stop()

or inside a notebook (JupyterLab, Notebook 7, VS Code, Colab), talking to the kernel::

    from chaingrad.lessons.playground import widget
    widget()                             # needs anywidget: pip install 'chaingrad[notebook]'

Each browser tab trains its own network on chaingrad (``nn.MLP``, ``nn.optim.SGD``,
``nn.losses``); the page shows the data, the network with its neurons' heat maps and its
weights, the loss curve and the output surface, and the computational graph of any point
you click, drawn by ``chaingrad.viz``.
"""

from .server import Playground, serve
from .session import Session, Setup, SetupError
from .widget import in_notebook, widget

__all__ = ["Playground", "Session", "Setup", "SetupError", "in_notebook", "serve", "widget"]
