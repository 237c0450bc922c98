//! GitLab's own JSON schemas of its API answers (`tests/data/gitlab-api-schemas/`, copied from
//! `spec/fixtures/api/schemas/` of gitlabhq/gitlabhq) hold the simulator to GitLab's shapes:
//! every answer the backline client reads must validate against the schema GitLab's request
//! specs check the same route with.

mod relax;
mod routes;
mod semantics;
mod validator;

use serde_json::Value;

use validator::{Relax, Schemas};

/// The copied schemas (the folder holding `public_api/`).
fn schemas() -> Schemas {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/gitlab-api-schemas");
    assert!(
        root.join("public_api/v4").is_dir(),
        "test data missing: {}",
        root.display()
    );
    Schemas::new(root)
}

/// Validates answers, collecting every violation of every route so that one run shows them all.
struct Checker {
    schemas: Schemas,
    checked: usize,
    failures: Vec<String>,
}

impl Checker {
    fn new() -> Self {
        Self {
            schemas: schemas(),
            checked: 0,
            failures: Vec::new(),
        }
    }

    /// Checks the answer of `what` against `schema`.
    fn check(&mut self, what: &str, schema: &str, answer: &Value, relax: &Relax) {
        self.checked += 1;
        let errors = self.schemas.validate(schema, answer, relax);
        if !errors.is_empty() {
            self.failures.push(format!(
                "{what} does not match GitLab's schema {schema}:\n  {}\nanswer: {answer:#}",
                errors.join("\n  ")
            ));
        }
    }

    /// Fails naming every route, schema and violation; returns how many answers were checked.
    fn finish(self) -> usize {
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n\n"));
        self.checked
    }
}
