"""Composition root of the learning service: `pasarkota serve learning` runs `learning.app:app`.

One kernel with the learning store (every unit of work gets a ``LearningStore`` on its transaction), the
consumers, the demo seeder, the no-show sweep as a periodic job, and the HTTP routes.
"""

from pathlib import Path

from learning import handlers, stream
from learning.http import routers
from learning.seed import seed_demo
from learning.store import LearningStore
from shared.service import ServiceKernel

NO_SHOW_SWEEP_SECONDS = 60.0

kernel = ServiceKernel("learning", Path(__file__).resolve().parent / "migrations", store=LearningStore)
stream.register(kernel.bus)
kernel.seeder(seed_demo)
kernel.periodic(NO_SHOW_SWEEP_SECONDS)(handlers.mark_no_shows)

app = kernel.http_app(*routers, title="PasarKota learning")

# An attendance report upload (issue #13) is bigger than the default body limit; nothing else under this prefix is.
from learning.http import REPORT_UPLOAD_MAX_BODY  # noqa: E402
from shared.cities import all_cities  # noqa: E402

for _slug in all_cities():
    kernel.body_limits[f"/cities/{_slug}/trainer/sessions/"] = REPORT_UPLOAD_MAX_BODY
