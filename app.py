"""Switchboard's Chalice app: creates the app and registers the blueprints and the middleware.
Nothing else."""

from chalice import Chalice

from chalicelib.blueprints.admin import admin
from chalicelib.blueprints.http import chalice_refusals
from chalicelib.blueprints.mentions import mentions
from chalicelib.blueprints.replies import replies
from chalicelib.blueprints.webhooks import webhooks
from chalicelib.blueprints.workers import workers

app = Chalice(app_name="switchboard")
app.register_blueprint(webhooks)
app.register_blueprint(mentions)
app.register_blueprint(admin)
app.register_blueprint(replies)
app.register_blueprint(workers)
app.register_middleware(chalice_refusals(app.routes), "http")
