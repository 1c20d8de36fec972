// \file
// `kforge db`: look into the tuning database (Database.h) and move records
// between machines.
//   kforge db list   [--db PATH] [--kernel NAME] [--target T] [--bucket B] [--json]
//   kforge db best   [--db PATH] [--json]      best record per spec/target/bucket/machine
//   kforge db show   KEY [--db PATH] [--json]  one record in full (a unique key prefix will do)
//   kforge db export [--db PATH] [-o FILE]     JSON lines, to stdout or FILE
//   kforge db import FILE [--db PATH]          adds the records whose keys are new
// PATH is a file or a postgresql:// URL (Database.h), defaulting to
// defaultDatabasePath(); export from one and import into the other moves
// records between SQLite and PostgreSQL. list/best/show/export never create
// a database: a missing file is an error. An import is one transaction: a
// malformed line is reported with its number and nothing is imported.
#pragma once

namespace CLI {
class App;
}

namespace kf::autotune {

// Registers `db` and its subcommands on app. Each runs from its CLI11 parse
// callback and ends the parse with CLI::RuntimeError(exit status) — 0 on
// success — so CLI11_PARSE in main returns that status and main needs no
// other code for `db`.
void addDbCommand(CLI::App &app);

}  // namespace kf::autotune
