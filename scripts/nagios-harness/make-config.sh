#!/usr/bin/env bash
# Usage: make-config.sh DIR USER GROUP
# Writes a small self-contained Nagios 4 configuration rooted in DIR:
#   hosts   web01 (UP), db01 (DOWN), app01 (UP), all in hostgroup "test-hosts"
#   services web01/HTTP (OK), web01/Disk (CRITICAL), web01/passive_check
#            (passive only), app01/Load (WARNING), app01/Procs (OK)
# Every check is check_dummy; status.dat is rewritten every second and
# checks run every 5 s, so a test sees the effect of a command within ~2 s.
set -euo pipefail
D=$1; U=$2; G=$3
PLUGINS=${NAGIOS_PLUGINS:-/usr/lib/nagios/plugins}
mkdir -p "$D/var/checkresults" "$D/var/archives" "$D/etc/objects"
cat > "$D/etc/nagios.cfg" <<CFG
log_file=$D/var/nagios.log
log_archive_path=$D/var/archives
log_rotation_method=n
cfg_file=$D/etc/objects/test.cfg
object_cache_file=$D/var/objects.cache
precached_object_file=$D/var/objects.precache
resource_file=$D/etc/resource.cfg
status_file=$D/var/status.dat
status_update_interval=1
nagios_user=$U
nagios_group=$G
check_external_commands=1
command_file=$D/var/nagios.cmd
query_socket=$D/var/nagios.qh
lock_file=$D/var/nagios.lock
temp_file=$D/var/nagios.tmp
temp_path=$D/var
check_result_path=$D/var/checkresults
check_result_reaper_frequency=1
state_retention_file=$D/var/retention.dat
retain_state_information=0
use_retained_program_state=0
use_syslog=0
enable_notifications=1
enable_event_handlers=0
process_performance_data=0
execute_service_checks=1
execute_host_checks=1
accept_passive_service_checks=1
accept_passive_host_checks=1
interval_length=1
service_inter_check_delay_method=n
host_inter_check_delay_method=n
max_concurrent_checks=0
check_for_orphaned_services=0
check_for_orphaned_hosts=0
check_service_freshness=0
check_host_freshness=0
enable_flap_detection=0
check_for_updates=0
bare_update_check=1
daemon_dumps_core=0
date_format=iso8601
illegal_object_name_chars=\`~!\$%^&*|'"<>?,()=
illegal_macro_output_chars=\`~\$&|'"<>
admin_email=nobody@localhost
admin_pager=nobody@localhost
CFG
printf '$USER1$=%s\n' "$PLUGINS" > "$D/etc/resource.cfg"
cat > "$D/etc/objects/test.cfg" <<'CFG'
define timeperiod {
    timeperiod_name always
    alias           always
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define command {
    command_name check_dummy
    command_line $USER1$/check_dummy $ARG1$ "$ARG2$"
}
define command {
    command_name notify_nothing
    command_line /bin/true
}
define contact {
    contact_name                  nobody
    alias                         nobody
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      always
    service_notification_period   always
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    notify_nothing
    service_notification_commands notify_nothing
}
define host {
    name                  harness-host
    register              0
    check_command         check_dummy!0!host is up
    max_check_attempts    1
    check_interval        5
    retry_interval        1
    check_period          always
    notification_period   always
    notification_interval 0
    contacts              nobody
    active_checks_enabled 1
    passive_checks_enabled 1
}
define service {
    name                  harness-service
    register              0
    max_check_attempts    1
    check_interval        5
    retry_interval        1
    check_period          always
    notification_period   always
    notification_interval 0
    contacts              nobody
    active_checks_enabled 1
    passive_checks_enabled 1
}
define hostgroup {
    hostgroup_name test-hosts
    alias          test hosts
    members        web01,db01,app01
}
define host {
    use       harness-host
    host_name web01
    address   127.0.0.1
}
define host {
    use           harness-host
    host_name     db01
    address       127.0.0.1
    check_command check_dummy!2!db01 is down (dummy)
}
define host {
    use       harness-host
    host_name app01
    address   127.0.0.1
}
define service {
    use                 harness-service
    host_name           web01
    service_description HTTP
    check_command       check_dummy!0!HTTP OK - dummy
}
define service {
    use                 harness-service
    host_name           web01
    service_description Disk
    check_command       check_dummy!2!DISK CRITICAL - dummy
}
define service {
    use                   harness-service
    host_name             web01
    service_description   passive_check
    check_command         check_dummy!3!no passive result yet
    active_checks_enabled 0
}
define service {
    use                 harness-service
    host_name           app01
    service_description Load
    check_command       check_dummy!1!LOAD WARNING - dummy
}
define service {
    use                 harness-service
    host_name           app01
    service_description Procs
    check_command       check_dummy!0!PROCS OK - dummy
}
CFG
