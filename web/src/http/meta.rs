//! Health and version.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::replies::{Health, HpoVersion, Orphanet, Version};

use raremesh_domain::state::AppState;

/// `GET /healthz`: 200 while the node serves.
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// `GET /api/v1/version`: the app version and the HPO data version, with the
/// acknowledgements the data licences ask for.
#[utoipa::path(get, path = "/version", tag = "node",
    responses((status = 200, description = "The versions and acknowledgements", body = Version)))]
pub async fn version(State(state): State<AppState>) -> Response {
    let v = state.ontology.version();
    Json(Version {
        app: crate::VERSION,
        hpo: HpoVersion {
            version: &v.hpo,
            release: v.hpo_release(),
            annotations: &v.annotations,
            acknowledgement: raremesh_ontology::hpo_acknowledgement(v),
        },
        orphanet: Orphanet {
            attribution: raremesh_ontology::ORPHANET_ATTRIBUTION,
        },
    })
    .into_response()
}

/// The pages of this module, for [`super::app`].
pub(super) fn pages() -> axum::Router<crate::AppState> {
    axum::Router::new().route("/healthz", axum::routing::get(healthz))
}

/// The JSON API routes of this module (under `/api/v1`), for [`super::app`].
pub(super) fn api() -> utoipa_axum::router::OpenApiRouter<crate::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(version))
}
