/* plugin.so: loaded by main.c with dlopen. */
int plugin_value(void)
{
    return 42;
}
