//! One module per Connect service aerie serves: `run_service` (runs and actions) with
//! `run_watches` (its watch streams),
//! `data_proxy` (uploads, inputs, data, reports, logs), `child_services` (QueueService,
//! StateService and ActionsService, what running parents call, over `children`),
//! `task_service` (deployed tasks), `trigger_service`, `secret_service`, `project_service`,
//! and `cluster`.
//! The auth services live in `crate::auth::oauth`.

pub mod child_services;
pub mod children;
pub mod cluster;
pub mod data_proxy;
pub mod project_service;
pub mod run_service;
pub mod run_watches;
pub mod secret_service;
pub mod task_service;
pub mod trigger_service;
