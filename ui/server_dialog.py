"""Settings > Database server: host, port, database, user, TLS mode and the password (which goes
to the operating system's credential store, never to a file), with "Test connection". Kursdesk
uses a saved server from its next start; "Use this computer's file" goes back to the local one.

Also the dialog the window shows when the server cannot be used at start (wrong password,
unreachable, no such database), with a way into these settings."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QDialogButtonBox, QLabel, QLineEdit, QMessageBox, QPushButton, QWidget

from app.errors import UserError
from app.i18n import _
from app.services.connection import (
    ConnectionSettings,
    connection_settings,
    has_credential_store,
    save_connection,
    try_connection,
)
from ui.forms import combo, line_edit, set_combo_data, spin_box
from ui.tasks import run_task
from ui.widgets import FormDialog


def _ssl_choices() -> list[tuple[str, str]]:
    return [
        (_("Prefer TLS (prefer)"), "prefer"),
        (_("Require TLS (require)"), "require"),
        (_("Require TLS and check the certificate (verify-full)"), "verify-full"),
        (_("Require TLS and check the certificate's issuer (verify-ca)"), "verify-ca"),
        (_("Allow without TLS (allow)"), "allow"),
        (_("No TLS (disable)"), "disable"),
    ]


class ServerDialog(FormDialog):
    """The connection dialog. `saved` carries the ConnectionSettings saved, or None for the
    local file."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(_("Database server"), parent)
        self.setObjectName("server_dialog")
        f = self.form
        self.host = f.add("host", _("Server:"), line_edit(placeholder=_("name or address, e.g. db.example.se")))
        self.port = f.add("port", _("Port:"), spin_box(1, 65535, 5432))
        self.port.setGroupSeparatorShown(False)
        self.database = f.add("database", _("Database:"), line_edit())
        self.user = f.add("user", _("User name:"), line_edit())
        self.sslmode = f.add("sslmode", _("TLS (encryption):"), combo(_ssl_choices()))
        self.password = f.add("password", _("Password:"), line_edit())
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        store = has_credential_store()
        self.password.setPlaceholderText(
            _("kept in this computer's credential store") if store else _("no credential store: use PGPASSWORD or ~/.pgpass")
        )
        self.password.setEnabled(store)
        self.local = QCheckBox(_("Use this computer's own database file instead"))
        self.local.setObjectName("use_local_file")
        self.local.toggled.connect(self._local_toggled)
        self.extra.addWidget(self.local)
        self.result_label = QLabel()
        self.result_label.setObjectName("test_result")
        self.result_label.setWordWrap(True)
        self.extra.addWidget(self.result_label)
        self.test_button = QPushButton(_("Test connection"))
        self.test_button.setObjectName("test_connection")
        self.test_button.clicked.connect(self.test)
        self.buttons.addButton(self.test_button, QDialogButtonBox.ButtonRole.ActionRole)
        note = QLabel(_("Kursdesk connects to the server saved here from its next start."))
        note.setWordWrap(True)
        self.extra.addWidget(note)
        saved = connection_settings()
        if saved is not None:
            self.host.setText(saved.host)
            self.port.setValue(saved.port)
            self.database.setText(saved.database)
            self.user.setText(saved.user)
            set_combo_data(self.sslmode, saved.sslmode)
        self.setMinimumWidth(560)

    def settings(self) -> ConnectionSettings:
        return ConnectionSettings(self.host.text(), self.port.value(), self.database.text(), self.user.text(),
                                  self.sslmode.currentData() or "prefer")

    def _local_toggled(self, local: bool) -> None:
        for widget in (self.host, self.port, self.database, self.user, self.sslmode, self.password, self.test_button):
            widget.setEnabled(not local and (widget is not self.password or has_credential_store()))

    def test(self) -> None:
        """Try the settings off the UI thread (a server that does not answer takes seconds)."""
        self.form.clear_problems()
        self.result_label.setText(_("Connecting…"))
        settings, password = self.settings(), self.password.text()

        def done(version: str) -> None:
            self.result_label.setText(_("Connected: PostgreSQL {version}.").format(version=version))

        def failed(exc: BaseException) -> None:
            from app.errors import ValidationError

            if isinstance(exc, ValidationError):
                self.result_label.setText("")
                self.form.show_problems(exc)
            else:
                self.result_label.setText(str(exc) if isinstance(exc, UserError) else _("The connection could not be tried."))

        run_task(self, lambda progress: try_connection(settings, password), done, failed, show_progress=False)

    def submit(self):
        if self.local.isChecked():
            save_connection(None)
            return None
        settings = self.settings()
        save_connection(settings, self.password.text())
        return settings


def ask_to_fix_connection(parent: QWidget | None, problem: UserError) -> bool:
    """At start, the server cannot be used: say why, offer the connection settings. True when
    the user saved new settings (the caller tries again)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Kursdesk", str(problem), parent=parent)
    box.setObjectName("server_problem")
    fix = box.addButton(_("Connection settings…"), QMessageBox.ButtonRole.AcceptRole)
    box.addButton(_("Quit"), QMessageBox.ButtonRole.RejectRole)
    box.exec()
    if box.clickedButton() is not fix:
        return False
    dialog = ServerDialog(parent)
    return dialog.exec() == ServerDialog.DialogCode.Accepted
