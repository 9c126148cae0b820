"""`refbot playground`: refbot in a browser, against the project's Slack fake, with no Slack workspace.

`workspace` runs the bot and plays the Slack client's part; `web` is the page; `server` binds it.
"""
