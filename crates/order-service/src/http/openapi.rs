//! The API document, generated from the handlers' annotations and the request types
//! (`GET /api/v1/openapi.json`). Every error is `application/problem+json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, ResponseBuilder, Schema, Type};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Offline Order POS order-service",
        description = "Multi-tenant orders, payments, audit and sync for the offline counters. Amounts are decimal strings."
    ),
    servers((url = "/api/v1")),
    paths(
        crate::login::login,
        crate::orders::create,
        crate::orders::list,
        crate::orders::search,
        crate::orders::export,
        crate::orders::preview,
        crate::orders::get,
        crate::orders::patch,
        crate::orders::delete,
        crate::orders::pay,
        crate::orders::reverse,
        crate::orders::audit_events,
        crate::orders::audit_verify,
        crate::users::create,
        crate::users::list,
        crate::users::patch,
        crate::tenant::get,
        crate::tenant::patch,
        crate::devices::pairing_code,
        crate::devices::pair,
        crate::devices::device_token,
        crate::devices::revoke,
        crate::devices::list,
        crate::feeds::events,
        crate::feeds::summary,
        crate::sync::push,
        crate::sync::pull,
        crate::sync::orders,
        crate::sync::recover,
    ),
    // types that only query parameters name (not collected from the paths)
    components(schemas(pos_domain::OrderStatus, pos_protocol::AuditAction)),
    modifiers(&Conventions)
)]
pub struct ApiDoc;

/// Bearer JWT security, and the problem+json error responses every operation may give.
struct Conventions;

fn problem_schema() -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("type", string())
            .property("title", string())
            .property("status", ObjectBuilder::new().schema_type(Type::Integer))
            .property("detail", string())
            .property("code", string())
            .property("field", string())
            .property(
                "retry_after",
                ObjectBuilder::new().schema_type(Type::Integer),
            )
            .property("request_id", string())
            .property(
                "params",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .additional_properties(Some(string()))
                    .description(Some(
                        "the figures the detail names (a limit, a range), for a translation keyed by code",
                    )),
            )
            .required("title")
            .required("status")
            .required("code")
            .build(),
    )
}

impl Modify for Conventions {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components
            .schemas
            .insert("Problem".into(), RefOr::T(problem_schema()));
        let problem = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                op.responses.responses.insert(
                    "4XX".into(),
                    RefOr::T(problem("refused (problem+json with a stable code)")),
                );
                op.responses.responses.insert(
                    "5XX".into(),
                    RefOr::T(problem("server error (problem+json)")),
                );
            }
        }
    }
}
