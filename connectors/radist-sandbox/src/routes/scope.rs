//! The company scope every `/companies/{company_id}/…` handler starts from: the [`Company`]
//! path extractor (a bad id is a 422 before anything else is read) and the helpers that lock the
//! state and look the company up (404 `Company not found`), in the order FastAPI reports them.

use std::collections::HashMap;
use std::sync::MutexGuard;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::error::ApiResult;
use crate::extract::{company_id, path_int};
use crate::state::State as Sandbox;
use crate::validate::Report;

/// The sandbox and the `company_id` path segment, checked as an integer in `1..=MAX_ID` (else
/// 422); whether the company exists is asked under the lock, by [`Company::state`].
#[derive(Debug, Clone)]
pub struct Company {
    /// The sandbox handling the request.
    pub app: AppState,
    /// The company of the path.
    pub id: i64,
}

impl FromRequestParts<AppState> for Company {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let Scoped { app, p } = Scoped::from_request_parts(parts, app).await?;
        let id = company_id(&p).map_err(IntoResponse::into_response)?;
        Ok(Self { app, id })
    }
}

/// The sandbox and the request's path segments as given: for the handlers that check the
/// company together with a nested id (`company_and`), so one 422 names every bad segment.
#[derive(Debug, Clone)]
pub struct Scoped {
    /// The sandbox handling the request.
    pub app: AppState,
    /// The path segments by name.
    pub p: HashMap<String, String>,
}

impl FromRequestParts<AppState> for Scoped {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Response> {
        let Path(p) = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let app = app.clone();
        Ok(Self { app, p })
    }
}

impl Company {
    /// Locks the state once the company is known (else 404 `Company not found`).
    pub fn state(&self) -> ApiResult<MutexGuard<'_, Sandbox>> {
        company_state(&self.app, self.id)
    }
}

fn company_state(app: &AppState, company: i64) -> ApiResult<MutexGuard<'_, Sandbox>> {
    let state = app.state();
    state.company(company)?;
    Ok(state)
}

/// `company_id` and whatever `read` takes from the path or query, checked into one report (one
/// 422 naming every bad input); then the state locked and the company known (else 404).
pub fn company_and_query<'a, T>(
    app: &'a AppState,
    params: &HashMap<String, String>,
    read: impl FnOnce(&mut Report) -> T,
) -> ApiResult<(MutexGuard<'a, Sandbox>, i64, T)> {
    let mut r = Report::default();
    let company = path_int(&mut r, params, "company_id");
    let read = read(&mut r);
    r.finish()?;
    let company = company.unwrap_or_default();
    let state = company_state(app, company)?;
    Ok((state, company, read))
}
