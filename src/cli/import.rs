//! `seatplan import graph DIR -o tenant.yaml`: turn a directory of Microsoft Graph JSON responses
//! (layout in SPEC §1.2) into a tenant state file, written atomically as YAML, or JSON when the
//! output name ends in `.json`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{Exit, Terminal};
use crate::backend::write_state;
use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::io::graph_export::{arrange_export, classify_export_path};
use crate::io::{list_graph_export, not_json, read_graph_page, read_graph_page_text};
use crate::source::{SourceId, Sources};
use crate::tenant::graph_import::{GraphMapper, GraphPage};
use crate::tenant::TenantState;
use crate::yaml::{parse_document, YamlLimits};

/// Arguments of `seatplan import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// What to import.
    #[command(subcommand)]
    pub source: ImportSource,
}

/// The kinds of input `seatplan import` reads.
#[derive(Debug, Subcommand)]
pub enum ImportSource {
    /// Convert saved Graph JSON responses into a tenant file. Example: seatplan import graph export/ -o tenant.yaml
    Graph(ImportGraphArgs),
}

/// Arguments of `seatplan import graph`.
#[derive(Debug, Args)]
pub struct ImportGraphArgs {
    /// Directory of Graph responses: organization.json, subscribedSkus.json, users[-N].json,
    /// groups[-N].json, members/<group-id>[-N].json.
    #[arg(value_name = "DIR")]
    pub directory: PathBuf,
    /// The tenant file to write (YAML; JSON when the name ends in .json).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
}

/// Runs `import`.
pub fn run(args: ImportArgs, terminal: &Terminal) -> Exit {
    match args.source {
        ImportSource::Graph(args) => run_graph(args, terminal),
    }
}

fn run_graph(args: ImportGraphArgs, terminal: &Terminal) -> Exit {
    let mut sources = Sources::new();
    let (tenant, problems, texts) = match import_directory(&args.directory, &mut sources) {
        Ok(imported) => imported,
        Err(problems) => {
            terminal.report(problems.iter(), &sources);
            return Exit::Failure;
        }
    };
    attach_pointers(&problems, &texts, &mut sources);
    if !problems.is_empty() {
        terminal.report(problems.iter(), &sources);
    }
    let Some(tenant) = tenant else {
        return Exit::Failure;
    };
    match write_state(&args.output, &tenant) {
        Ok(()) => {
            terminal.print(&format!(
                "Imported {} into {}.\n",
                summary(&tenant),
                args.output.display()
            ));
            Exit::Success
        }
        Err(diagnostic) => {
            terminal.report([&diagnostic], &sources);
            Exit::Failure
        }
    }
}

/// What importing a directory gives: the tenant (when nothing was wrong), every problem, and
/// the texts of the pages the problems point into.
type Imported = (Option<TenantState>, Diagnostics, Vec<(SourceId, String)>);

/// Reads and maps the export in `directory` one page at a time, so that only one page's JSON is
/// in memory at once, whatever the size of the tenant. The text of a page is kept (and given to
/// `sources`) only when mapping it raised a problem. An unreadable or malformed file fails the
/// import with the reading problems alone (every file is read to find them all); an incomplete
/// layout with the layout's problems.
fn import_directory(directory: &Path, sources: &mut Sources) -> Result<Imported, Diagnostics> {
    let paths = list_graph_export(directory)?;
    let mut unreadable: Vec<(String, Diagnostic)> = Vec::new();
    let mut files = Vec::new();
    for (relative_path, path) in paths {
        if classify_export_path(&relative_path).is_none() {
            // Not part of the layout, so not imported (`arrange_export` warns about it); but a
            // broken file is still reported.
            if let Err(problem) = read_graph_page(&path) {
                unreadable.push((relative_path.clone(), problem));
            }
        }
        files.push((relative_path.clone(), (relative_path, path)));
    }
    let (layout, layout_problems) = arrange_export(files);
    let mut reader = PageReader {
        sources,
        unreadable,
        texts: Vec::new(),
        map: !layout_problems.has_errors(),
    };
    let mut mapper = GraphMapper::new();
    reader.all(&layout.organization, &mut mapper, |mapper, pages| {
        mapper.organization(pages)
    });
    for (collection, map) in [
        (
            &layout.subscribed_skus,
            GraphMapper::subscribed_skus as PageMap,
        ),
        (&layout.groups, GraphMapper::groups),
    ] {
        for (index, file) in collection.iter().enumerate() {
            let last = index + 1 == collection.len();
            reader.all(std::slice::from_ref(file), &mut mapper, |mapper, pages| {
                map(mapper, &pages[0], last)
            });
        }
    }
    for (index, file) in layout.users.iter().enumerate() {
        reader.users(file, &mut mapper, index + 1 == layout.users.len());
    }
    for (group_id, files) in &layout.members {
        reader.all(files, &mut mapper, |mapper, pages| {
            mapper.members(group_id, pages)
        });
    }
    if !reader.unreadable.is_empty() {
        reader.unreadable.sort_by(|a, b| a.0.cmp(&b.0));
        let mut problems = Diagnostics::default();
        problems.extend(reader.unreadable.into_iter().map(|(_, problem)| problem));
        return Err(problems);
    }
    let mut problems = layout_problems;
    if problems.has_errors() {
        return Ok((None, problems, Vec::new()));
    }
    let tenant = match mapper.finish() {
        Ok(tenant) => Some(tenant),
        Err(errors) => {
            problems.extend(errors);
            None
        }
    };
    Ok((tenant, problems, reader.texts))
}

/// A mapping step of one page of a collection ([`GraphMapper::groups`], …).
type PageMap = fn(&mut GraphMapper, &GraphPage, bool);

/// Reads pages of an export for the mapper, keeping what diagnostics need.
struct PageReader<'s> {
    sources: &'s mut Sources,
    /// Files that could not be read or parsed, by relative path.
    unreadable: Vec<(String, Diagnostic)>,
    /// The texts of the pages problems point into.
    texts: Vec<(SourceId, String)>,
    /// Whether pages are mapped: not once the layout or a file is known to be broken.
    map: bool,
}

impl PageReader<'_> {
    /// Reads `files` ((relative path, full path)) and hands their pages to `map` at once.
    fn all(
        &mut self,
        files: &[(String, PathBuf)],
        mapper: &mut GraphMapper,
        map: impl FnOnce(&mut GraphMapper, &[GraphPage]),
    ) {
        let mut pages = Vec::with_capacity(files.len());
        let mut texts = Vec::with_capacity(files.len());
        for (relative_path, path) in files {
            match read_graph_page(path) {
                Ok((text, body)) => {
                    let source = self.sources.add(relative_path.clone(), "");
                    texts.push((source, text));
                    pages.push(GraphPage {
                        origin: relative_path.clone(),
                        source: Some(source),
                        body,
                    });
                }
                Err(problem) => self.unreadable.push((relative_path.clone(), problem)),
            }
        }
        if !self.map || !self.unreadable.is_empty() {
            return;
        }
        let before = mapper.problem_count();
        map(mapper, &pages);
        if mapper.problem_count() > before {
            for (source, text) in texts {
                self.sources.set_text(source, text.as_str());
                self.texts.push((source, text));
            }
        }
    }
}

impl PageReader<'_> {
    /// Reads the page of users in `file` ((relative path, full path)) as text and maps it
    /// straight from the text ([`GraphMapper::users_text`]): the pages of users are most of an
    /// export's bytes, and no JSON tree of them is built.
    fn users(&mut self, file: &(String, PathBuf), mapper: &mut GraphMapper, last: bool) {
        let (relative_path, path) = file;
        let text = match read_graph_page_text(path) {
            Ok(text) => text,
            Err(problem) => {
                self.unreadable.push((relative_path.clone(), problem));
                return;
            }
        };
        if !self.map || !self.unreadable.is_empty() {
            // Not mapped, but a broken file is still reported.
            if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
                self.unreadable
                    .push((relative_path.clone(), not_json(path, &error)));
            }
            return;
        }
        let source = self.sources.add(relative_path.clone(), "");
        let before = mapper.problem_count();
        if let Err(error) = mapper.users_text(relative_path, Some(source), &text, last) {
            self.unreadable
                .push((relative_path.clone(), not_json(path, &error)));
            return;
        }
        if mapper.problem_count() > before {
            self.sources.set_text(source, text.as_str());
            self.texts.push((source, text));
        }
    }
}

/// Builds pointer maps only for the files a diagnostic points into: most exports have none, and
/// the span pass over every page of a large tenant would cost more than the import itself.
fn attach_pointers(problems: &Diagnostics, texts: &[(SourceId, String)], sources: &mut Sources) {
    let mut wanted: Vec<SourceId> = problems
        .iter()
        .flat_map(|problem| problem.labels.iter())
        .filter_map(|label| match label.location {
            Location::Node { source, .. } => Some(source),
            Location::Span { .. } => None,
        })
        .collect();
    wanted.sort();
    wanted.dedup();
    for source in wanted {
        if let Some((_, text)) = texts.iter().find(|(id, _)| *id == source) {
            if let Ok(document) = parse_document(source, text, YamlLimits::default()) {
                sources.set_pointers(source, document.pointers);
            }
        }
    }
}

fn summary(tenant: &TenantState) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    format!(
        "{}, {}, {}",
        count(tenant.users.len(), "user", "users"),
        count(tenant.groups.len(), "group", "groups"),
        count(tenant.subscriptions.len(), "subscription", "subscriptions"),
    )
}
